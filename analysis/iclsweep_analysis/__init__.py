"""Analysis of iclsweep results files (HDF5): loading, checkpoint selection, seed aggregation, figures.

    from iclsweep_analysis import load, aggregate, figures
    res = load.load("results.h5")                      # done points only
    err = aggregate.selected_values(res, "eval-default-none-flip_label")
    table = aggregate.mean_se(res, err)                # mean +- SE over seeds per setting
    figures.draw("p_high", res, "figs/")               # -> list of written PNG paths

See docs/analysis.md.
"""
