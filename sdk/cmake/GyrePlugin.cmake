# gyre_add_plugin(<name> SOURCES <files...> [LIBRARIES <libs...>])
# Builds <name>.so, loadable by gyre (plugins.load, or plugins.dir for
# engines named engine-<type>). The entry symbol is the only export, and
# undefined symbols fail at link time rather than when gyre loads the plugin.
# Installs to <prefix>/lib/gyre/plugins. Used by plugin projects through
# find_package(Gyre) and by Gyre's own build (which also sets
# GYRE_PLUGIN_OUTPUT_DIR and defines gyre_set_warnings).
function(gyre_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED GYRE_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${GYRE_PLUGIN_OUTPUT_DIR})
  endif()
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  target_link_libraries(${name} PRIVATE Gyre::sdk ${ARG_LIBRARIES})
  if(COMMAND gyre_set_warnings)
    gyre_set_warnings(${name})
  endif()
  include(GNUInstallDirs)
  install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/gyre/plugins)
endfunction()
