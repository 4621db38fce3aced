#include "sys/syscalls.h"
