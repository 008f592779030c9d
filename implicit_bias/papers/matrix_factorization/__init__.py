"""The lecture notes, matrix factorization: matrix sensing and completion against the
nuclear-norm minimizer (Gunasekar et al. 2017; Arora et al. 2019) and Razin & Cohen (2020)'s
counterexample.

    python -m implicit_bias.papers.matrix_factorization figures [figures | razin_cohen]
"""
