"""Tools that only the command line and the studies use: the benchmark, the flicker metric, the
stabilizer study and generated test material. Nothing at run time imports this package.
"""
