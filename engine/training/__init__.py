"""Training and evaluating the decoder: the training loop and data, the held-out evaluation
against L-BFGS baselines (paper Fig. 3), and the encoder's Gatys normalisation. Offline tools:
nothing at run time imports this package.
"""
