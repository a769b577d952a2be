"""iblearn's benchmarks: scripts, their results, and the runners and peer adapters they share
(``benchmarks.runners``). Outside the installed package; import it from the root of a source checkout."""
