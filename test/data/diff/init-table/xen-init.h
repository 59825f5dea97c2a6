/* Xen 4.17's boot-time tables (xen/init.h, xen/param.h), as the hypervisor's objects
 * have them: .init.setup entries pointing at .init.rodata names, initcalls. */
#define __used_section(s) __attribute__((__used__, __section__(s)))
#define __initconst __attribute__((__section__(".init.rodata")))
#define __init __attribute__((__section__(".init.text")))

struct kernel_param {
    const char *name;
    enum { OPT_STR, OPT_UINT, OPT_BOOL, OPT_SIZE, OPT_CUSTOM, OPT_IGNORE } type;
    unsigned int len;
    union {
        void *var;
        int (*func)(const char *);
    } par;
};

#define __setup_str static const __initconst __attribute__((__aligned__(1))) char
#define __kparam static const __used_section(".init.setup") \
    __attribute__((__aligned__(sizeof(void *)))) struct kernel_param
#define __TEMP_NAME(base, line) base ## _ ## line
#define _TEMP_NAME(base, line) __TEMP_NAME(base, line)
#define TEMP_NAME(base) _TEMP_NAME(base, __LINE__)

#define boolean_param(_name, _var) \
    __setup_str __setup_str_##_var[] = _name; \
    __kparam __setup_##_var = \
        { .name = __setup_str_##_var, .type = OPT_BOOL, .len = sizeof(_var), .par.var = &_var }
#define ignore_param(_name) \
    __setup_str TEMP_NAME(__setup_str_ign)[] = _name; \
    __kparam TEMP_NAME(__setup_ign) = { .name = TEMP_NAME(__setup_str_ign), .type = OPT_IGNORE }

typedef int (*initcall_t)(void);
#define __initcall(fn) \
    const static initcall_t __initcall_##fn __used_section(".initcall1.init") = fn
