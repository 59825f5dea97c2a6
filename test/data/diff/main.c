/* The rest of every differ test image: the objects under test are linked in whole. */
int main(void) { return 0; }
