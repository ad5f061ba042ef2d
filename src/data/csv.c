/* STUB: to be written. */
typedef int tg__stub_csv_data;
