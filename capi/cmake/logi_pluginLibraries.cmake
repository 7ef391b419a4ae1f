# The C ABI's two libraries, built by cargo rather than CMake, as imported targets:
# `logi_plugin::logi_plugin` (liblogi_plugin.a with the system libraries it needs) and
# `logi_plugin::logi_plugin_shared` (liblogi_plugin.so). capi/CMakeLists.txt points them at
# cargo's target folder; the installed logi_pluginConfig.cmake at the prefix.

# What the Rust static library needs from the system on Linux, as printed by
# `cargo rustc -p logi-plugin-capi --lib --crate-type staticlib -- --print native-static-libs`
# (Rust 1.95, December 2026). They are the Rust standard library's needs, not the crate's, so
# they change only with the toolchain; written down rather than asked at configure time, which
# would compile the crate before CMake has generated anything.
set(LOGI_PLUGIN_NATIVE_STATIC_LIBS gcc_s util rt pthread m dl c)

# Defines both targets on the libraries in `library_dir` and the headers in `include_dir`;
# a third argument `GLOBAL` makes them visible to the whole build (add_subdirectory users).
function(logi_plugin_import_libraries library_dir include_dir)
  if(TARGET logi_plugin::logi_plugin)
    return()
  endif()
  add_library(logi_plugin::logi_plugin STATIC IMPORTED ${ARGN})
  set_target_properties(logi_plugin::logi_plugin PROPERTIES
    IMPORTED_LOCATION "${library_dir}/liblogi_plugin.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${include_dir}"
    INTERFACE_LINK_LIBRARIES "${LOGI_PLUGIN_NATIVE_STATIC_LIBS}")
  add_library(logi_plugin::logi_plugin_shared SHARED IMPORTED ${ARGN})
  # cargo writes no soname into a cdylib: without IMPORTED_NO_SONAME the linker would record
  # the library's full build path as what a program needs at run time.
  set_target_properties(logi_plugin::logi_plugin_shared PROPERTIES
    IMPORTED_LOCATION "${library_dir}/liblogi_plugin.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${include_dir}")
endfunction()
