#ifndef PARLEY_CEXPAT_SHIM_H
#define PARLEY_CEXPAT_SHIM_H
#include <expat.h>

/* Expat >= 2.6 may defer reparsing of small chunks, which would hold back the
   stream header that we must answer at once. Older versions have no such
   function, so the call is compiled only where it exists. */
static inline void parley_expat_disable_reparse_deferral(XML_Parser parser) {
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
    XML_SetReparseDeferralEnabled(parser, XML_FALSE);
#else
    (void)parser;
#endif
}
#endif
