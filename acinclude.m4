dnl acinclude.m4 - configure macros of pam_secdefaults (aclocal reads this file).

# SD_LAZY_SONAME(NAME, PKGVAR, FUNCTION, DEFAULT)
# -----------------------------------------------
# The SONAME that linking with $PKGVAR_LIBS records for libNAME (what a
# program linked normally would load: its NEEDED entry), DEFAULT when that
# cannot be read; defines SD_PKGVAR_SONAME and checks that dlopen finds the
# library and FUNCTION in it. Override with sd_cv_soname_NAME=...
AC_DEFUN([SD_LAZY_SONAME], [
AC_CACHE_CHECK([the SONAME of lib$1], [sd_cv_soname_$1], [
  sd_cv_soname_$1=$4
  sd_save_LIBS=$LIBS
  LIBS="$$2_LIBS $LIBS"
  AC_LINK_IFELSE([AC_LANG_CALL([], [$3])], [
    AS_IF([test "x$READELF" != xno], [
      sd_soname=`$READELF -d conftest$EXEEXT 2>/dev/null | grep '(NEEDED)' |
        sed 's/.*: .//; s/.$//' | grep "^lib$1\.so\." | head -n 1`
      AS_IF([test -n "$sd_soname"], [sd_cv_soname_$1=$sd_soname])])])
  LIBS=$sd_save_LIBS])
AC_DEFINE_UNQUOTED([SD_$2_SONAME], ["$sd_cv_soname_$1"],
  [SONAME of lib$1, loaded with dlopen on first use])
AC_CACHE_CHECK([whether dlopen loads $sd_cv_soname_$1], [sd_cv_dlopen_$1], [
  sd_save_LIBS=$LIBS
  LIBS="$DL_LIBS $LIBS"
  AC_RUN_IFELSE([AC_LANG_PROGRAM([[#include <dlfcn.h>]],
    [[void *h = dlopen(SD_$2_SONAME, RTLD_NOW | RTLD_LOCAL);
      return h == 0 || dlsym(h, "$3") == 0;]])],
    [sd_cv_dlopen_$1=yes], [sd_cv_dlopen_$1=no], [sd_cv_dlopen_$1=cross])
  LIBS=$sd_save_LIBS])
AS_IF([test "x$sd_cv_dlopen_$1" = xno],
  [AC_MSG_ERROR([dlopen cannot load $sd_cv_soname_$1 (or it has no $3); set sd_cv_soname_$1])])
])
