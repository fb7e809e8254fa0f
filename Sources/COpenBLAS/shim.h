#ifndef ROTARY_COPENBLAS_SHIM_H
#define ROTARY_COPENBLAS_SHIM_H
/* Debian's libopenblas-dev: the CBLAS interface of OpenBLAS. */
#include <cblas.h>
#endif
