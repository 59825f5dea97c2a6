/* Only declares the type: its DWARF has no size and must not be taken. */
struct exception_table_entry;
struct exception_table_entry *extable_cursor;
