#include "app/cli.hpp"
#include "app/server.hpp"

int main(int argc, char** argv) {
  parley::app::block_signals();  // before any thread exists
  return parley::app::run_cli(argc, argv);
}
