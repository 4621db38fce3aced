// config:: is plain data; this unit exists so the layer is a real library.
#include "config/container.h"
