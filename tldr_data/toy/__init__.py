"""The toy world: digit-chain arithmetic problems (synth) and scripted System-1 / System-2 teachers (teacher).

It exists so the whole pipeline runs end to end on a laptop CPU with tiny models (recipes/toy-arith); the
stages real users run never import it.
"""
