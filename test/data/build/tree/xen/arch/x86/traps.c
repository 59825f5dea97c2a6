/* Traps: an object no test patch touches. */
int trap_count;

int do_trap(int n)
{
    trap_count += n * 3;
    return trap_count;
}
