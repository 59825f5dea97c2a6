/* A bit-field widened by one bit: the next one moves. */
struct port_flags {
    unsigned int mode:3;
    unsigned int busy:1;
    unsigned int pad:28;
};

void __attribute__((noinline)) port_set_mode(struct port_flags *f, unsigned int m)
{
    f->mode = m;
}
