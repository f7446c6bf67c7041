#ifndef PARLEY_CEXPAT_SHIM_H
#define PARLEY_CEXPAT_SHIM_H
#include <expat.h>
#include <dlfcn.h>

/* Expat >= 2.6 may defer reparsing of small chunks, which would hold back the
   stream header that we must answer at once. Distributions backport it under
   older version numbers (Debian 12's 2.5.0-1+deb12u2 and later have it), so
   the version macros cannot tell: look the function up at run time. */
static inline void parley_expat_disable_reparse_deferral(XML_Parser parser) {
    typedef XML_Bool (*set_deferral_fn)(XML_Parser, XML_Bool);
    set_deferral_fn set_deferral = (set_deferral_fn)dlsym(RTLD_DEFAULT, "XML_SetReparseDeferralEnabled");
    if (set_deferral != NULL) {
        set_deferral(parser, XML_FALSE);
    }
}
#endif
