# Debian packages through CPack (scripts/package-test.sh builds and tries them):
#   crmsync           the daemon and CLI, its unit, user, state folder, example config, default mappings
#   crmsync-emulator  dataverse-emulator, to try mappings before touching a real organisation
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package; then
#   cpack --config build/CPackConfig.cmake
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME crmsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "crmsync maintainers <crmsync@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon emulator)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# dpkg-shlibdeps names the Debian 12 libraries the binaries link (cpprest,
# OpenSSL, SQLite, spdlog, fmt, libsystemd).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME crmsync)
set(CPACK_COMPONENT_DAEMON_DESCRIPTION
    "keeps a local CRM store and Dynamics 365 Sales in step
 crmsync syncs contacts, salespeople, opportunities and sales orders between a
 local SQLite CRM store and Microsoft Dynamics 365 Sales (the Dataverse Web
 API), field by field, as a hardened systemd service with a tamper-evident
 audit log. The package enables and starts nothing by itself.")
# systemd-sysusers and systemd-tmpfiles run in postinst; the unit reloads with
# /bin/kill (procps), which a minimal Debian system lacks.
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "systemd, procps")
set(CPACK_DEBIAN_DAEMON_PACKAGE_SUGGESTS "crmsync-emulator")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/systemd/debian/postinst ${PROJECT_SOURCE_DIR}/systemd/debian/prerm
    ${PROJECT_SOURCE_DIR}/systemd/debian/postrm ${PROJECT_SOURCE_DIR}/systemd/debian/conffiles)

set(CPACK_DEBIAN_EMULATOR_PACKAGE_NAME crmsync-emulator)
set(CPACK_DEBIAN_EMULATOR_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_EMULATOR_DESCRIPTION
    "Dataverse Web API emulator for trying crmsync mappings
 dataverse-emulator speaks the Dataverse Web API and the Microsoft identity
 platform token endpoint on loopback, over HTTP or HTTPS, with an admin API to
 seed data, edit records as a Dynamics user would and inject faults. Point a
 crmsync config at it to try a mapping before touching a real organisation.")

include(CPack)
