/* A structure the running hypervisor already has objects of; the fix adds a member
 * in the middle (a new lock), so count moves. */
struct session {
    int id;
    unsigned int count;
    char name[16];
};

int __attribute__((noinline)) session_bump(struct session *s)
{
    return ++s->count;
}

int __attribute__((noinline)) session_id(const struct session *s)
{
    return s->id;
}
