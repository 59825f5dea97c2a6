/* A structure the running hypervisor already has objects of; the fix adds a member
 * in the middle (a new lock), so count moves. */
struct session {
    int id;
    int lock;
    unsigned int count;
    char name[16];
};

int __attribute__((noinline)) session_bump(struct session *s)
{
    s->lock = 1;
    return ++s->count;
}

int __attribute__((noinline)) session_id(const struct session *s)
{
    return s->id;
}
