/* A bit-field widened by one bit: the next one moves. */
struct port_flags {
    unsigned int mode:4;
    unsigned int busy:1;
    unsigned int pad:27;
};

void __attribute__((noinline)) port_set_mode(struct port_flags *f, unsigned int m)
{
    f->mode = m;
}
