/* The rest of the test image: calls what the test objects define. */
#include <stdio.h>
int check_bounds(int idx);
int main(void) { printf("%d\n", check_bounds(3)); return 0; }
