/* Recompiled by every make, like Xen's common/version.o. */
const char *xen_build_date(void)
{
    return BUILD_DATE " " BUILD_TIME;
}
