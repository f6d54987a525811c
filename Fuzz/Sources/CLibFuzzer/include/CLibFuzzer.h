#ifndef VIGIL_CLIBFUZZER_H
#define VIGIL_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, FuzzerDriver.cpp), for a program that has its own
/// `main`: parses libFuzzer's flags from argv and fuzzes `callback` with them.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
