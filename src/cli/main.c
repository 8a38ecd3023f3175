/* Placeholder CLI entry point. */
#include <stdio.h>
int main(void) { puts("nebula " NB_VERSION); return 0; }
