/* LD_PRELOAD shim for tests and the bench: sysconf reports SYSCONF_CORES online and configured CPUs, as a
   host with more cores than this process may use does. Everything else goes to the real sysconf. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

long sysconf(int name) {
    static long (*real)(int);
    if (!real) real = (long (*)(int))dlsym(RTLD_NEXT, "sysconf");
    const char *cores = getenv("SYSCONF_CORES");
    if (cores && (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF)) return atol(cores);
    return real(name);
}
