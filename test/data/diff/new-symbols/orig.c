/* The fix adds a new static function and a new global used by the changed function. */
int handled;

int __attribute__((noinline)) handle(int op)
{
    handled++;
    return op * 2 + handled;
}
