/* The fix adds a new static function and a new global used by the changed function. */
int handled;
int handle_rejections;

static int __attribute__((noinline)) validate(int op)
{
    return op >= 0 && op < 100;
}

int __attribute__((noinline)) handle(int op)
{
    if (!validate(op)) {
        handle_rejections++;
        return -22;
    }
    handled++;
    return op * 2 + handled;
}
