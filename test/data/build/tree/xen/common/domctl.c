/* Domain control: the function the "fix" patch corrects. */
int domctl_table[4] = { 1, 2, 3, 4 };

int do_domctl(int idx)
{
    if (idx > 4)
        return -1;
    return domctl_table[idx] * 3 + idx;
}
