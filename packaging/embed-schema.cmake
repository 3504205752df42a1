# Writes OUTPUT, a C file defining the schema migrations as string literals.
# Called from CMakeLists.txt with FILES set to the sorted schema/NNN_name.sql
# list. FILES is a CMake list, so the add_custom_command that passes it needs
# VERBATIM: without it the shell splits the command at the semicolons.
if(NOT OUTPUT OR NOT FILES)
  message(FATAL_ERROR "embed-schema.cmake: set OUTPUT and FILES (the schema/NNN_name.sql files)")
endif()

set(body "/* Generated from schema/NNN_name.sql by packaging/embed-schema.cmake. */\n#include \"recall/store.h\"\n\nconst struct store_migration store_migrations[] = {\n")
set(count 0)
string(REPLACE "|" ";" FILES "${FILES}")
foreach(file IN LISTS FILES)
  get_filename_component(base "${file}" NAME_WE)
  if(NOT base MATCHES "^[0-9][0-9][0-9]_[a-z0-9_]+$")
    message(FATAL_ERROR "embed-schema.cmake: ${file}: expected a name like 001_initial_schema.sql")
  endif()
  string(SUBSTRING "${base}" 0 3 version)

  # Escape for a C string literal: backslashes first, then quotes; carriage
  # returns are dropped and each line becomes its own literal.
  file(READ "${file}" sql)
  string(REPLACE "\r" "" sql "${sql}")
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n\"" sql "${sql}")
  string(APPEND body "  { \"${version}\", \"${base}\",\n\"${sql}\" },\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\n\nconst size_t store_migration_count = ${count};\n")
file(WRITE "${OUTPUT}" "${body}")
