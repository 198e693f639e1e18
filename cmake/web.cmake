# The web side, built with the machine's Node and npm from the committed
# package-lock.json: the SDK (sdk/js), the web app (web/, embedded into the
# binary as generated/web_assets.cpp) and, with tests, the SDK and browser
# suites. PARLEY_WEB=OFF embeds an empty app (no Node needed).
option(PARLEY_WEB "Build the web app and embed it into the binary (needs Node 18+ and npm)" ON)
set(PARLEY_WEB_BUDGET 102400 CACHE STRING "largest initial load of the web app, gzipped bytes")

set(WEB_ASSETS_CPP ${CMAKE_CURRENT_BINARY_DIR}/generated/web_assets.cpp)
if(NOT PARLEY_WEB)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/web_assets_empty.cpp ${WEB_ASSETS_CPP} COPYONLY)
  return()
endif()

find_program(NODE_EXECUTABLE node REQUIRED)
find_program(NPM_EXECUTABLE npm REQUIRED)
set(WEB_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
set(NPM_STAMP ${WEB_ROOT}/node_modules/.package-lock.json)

# npm ci: only when the lockfile changed (node_modules is shared by every build tree).
add_custom_command(
  OUTPUT ${NPM_STAMP}
  COMMAND ${NPM_EXECUTABLE} ci --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${WEB_ROOT}
  DEPENDS ${WEB_ROOT}/package-lock.json ${WEB_ROOT}/package.json
          ${WEB_ROOT}/sdk/js/package.json ${WEB_ROOT}/web/package.json ${WEB_ROOT}/tests/e2e/package.json
  COMMENT "npm ci (web dependencies)"
  VERBATIM)

file(GLOB_RECURSE SDK_SOURCES CONFIGURE_DEPENDS ${WEB_ROOT}/sdk/js/src/*.ts)
list(FILTER SDK_SOURCES EXCLUDE REGEX "/generated/")
set(SDK_STAMP ${CMAKE_CURRENT_BINARY_DIR}/sdk-js.stamp)
# The REST types are generated from docs/openapi.yaml, then tsc builds dist/.
add_custom_command(
  OUTPUT ${SDK_STAMP}
  COMMAND ${NPM_EXECUTABLE} run --silent build -w sdk/js
  COMMAND ${CMAKE_COMMAND} -E touch ${SDK_STAMP}
  WORKING_DIRECTORY ${WEB_ROOT}
  DEPENDS ${NPM_STAMP} ${SDK_SOURCES} ${WEB_ROOT}/docs/openapi.yaml
          ${WEB_ROOT}/proto/parley/v1/protocol.proto ${WEB_ROOT}/sdk/js/tsconfig.json
  COMMENT "Building the JS SDK (types from docs/openapi.yaml)"
  VERBATIM)

file(GLOB_RECURSE WEB_SOURCES CONFIGURE_DEPENDS
  ${WEB_ROOT}/web/src/* ${WEB_ROOT}/web/public/*)
set(WEB_DIST ${CMAKE_CURRENT_BINARY_DIR}/web-dist)
add_custom_command(
  OUTPUT ${WEB_ASSETS_CPP}
  COMMAND ${NPM_EXECUTABLE} run --silent build -w web -- --outDir ${WEB_DIST} --emptyOutDir --logLevel warn
  COMMAND ${NODE_EXECUTABLE} ${WEB_ROOT}/web/scripts/embed.mjs ${WEB_DIST} ${WEB_ASSETS_CPP} ${PARLEY_WEB_BUDGET}
  WORKING_DIRECTORY ${WEB_ROOT}
  DEPENDS ${SDK_STAMP} ${WEB_SOURCES} ${WEB_ROOT}/web/index.html ${WEB_ROOT}/web/vite.config.ts
          ${WEB_ROOT}/web/tsconfig.json ${WEB_ROOT}/web/scripts/embed.mjs
  COMMENT "Building the web app and embedding it (initial-load budget ${PARLEY_WEB_BUDGET} bytes)"
  VERBATIM)
add_custom_target(parley_web DEPENDS ${WEB_ASSETS_CPP} ${SDK_STAMP})
