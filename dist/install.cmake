# Run by `cmake --install` (install(SCRIPT), CMakeLists.txt): the files that
# name installed paths, written for the prefix given at install time
# (CMAKE_INSTALL_PREFIX here is `--prefix` or `make install PREFIX=...`),
# then installed under $DESTDIR like the rest.
#   PREFIX/LIBDIR/pkgconfig/openjpki.pc
#   PREFIX/lib/systemd/system/jpkid.service
#   SYSCONFDIR/openjpki/jpkid.conf (/etc for PREFIX /usr, else PREFIX/etc);
#     an existing one is kept and the new one goes beside it as .new
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr")
  set(sysconfdir "/etc")
else()
  set(sysconfdir "${prefix}/etc")
endif()
if(IS_ABSOLUTE "${JPKI_UNITDIR_REL}")
  set(unitdir "${JPKI_UNITDIR_REL}")
else()
  set(unitdir "${prefix}/${JPKI_UNITDIR_REL}")
endif()

set(JPKI_PREFIX "${prefix}")
set(JPKI_LIBDIR "${prefix}/${JPKI_LIBDIR_REL}")
set(JPKI_INCLUDEDIR "${prefix}/${JPKI_INCLUDEDIR_REL}")
set(JPKI_DATADIR "${prefix}/${JPKI_DATADIR_REL}/openjpki")
set(JPKI_BINDIR "${prefix}/${JPKI_BINDIR_REL}")
set(JPKI_SYSCONFDIR "${sysconfdir}")
set(out "${JPKI_BIN}/dist-installed")
configure_file("${JPKI_SRC}/dist/openjpki.pc.in" "${out}/openjpki.pc" @ONLY)
configure_file("${JPKI_SRC}/dist/systemd/jpkid.service.in" "${out}/jpkid.service" @ONLY)

file(INSTALL DESTINATION "${JPKI_LIBDIR}/pkgconfig" TYPE FILE
  FILES "${out}/openjpki.pc")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES "${out}/jpkid.service")
# jpkid.conf may come to hold a password (JPKID_ADMIN_PASSWORD, a libpq
# password file's path): root only
set(conf "$ENV{DESTDIR}${sysconfdir}/openjpki/jpkid.conf")
if(EXISTS "${conf}")
  message(STATUS "Keeping: ${conf} (the new one is jpkid.conf.new)")
  configure_file("${JPKI_SRC}/dist/systemd/jpkid.conf" "${out}/jpkid.conf.new" COPYONLY)
  set(conf_src "${out}/jpkid.conf.new")
else()
  set(conf_src "${JPKI_SRC}/dist/systemd/jpkid.conf")
endif()
file(INSTALL DESTINATION "${sysconfdir}/openjpki" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE
  DIR_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
  FILES "${conf_src}")
