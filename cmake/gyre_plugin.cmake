# gyre_add_plugin(<name> SOURCES ...): a dlopen-able plugin named <name>.so.
# Hidden visibility so the entry symbol is the only export; --no-undefined so
# a plugin that reaches for host symbols fails at link time, not at load time.
function(gyre_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${GYRE_PLUGIN_OUTPUT_DIR})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  target_link_libraries(${name} PRIVATE gyre::sdk ${ARG_LIBRARIES})
  gyre_set_warnings(${name})
  install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/gyre/plugins)
endfunction()
