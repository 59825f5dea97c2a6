/* The complete type: 12 bytes in this (made-up) image. */
struct exception_table_entry { int addr, cont, extra; };
struct exception_table_entry extable_example;
