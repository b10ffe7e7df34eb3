"""Named protocols: each published suite's arithmetic (ADM evaluator, EDM2, StyleGAN, clean-fid) reproduced
on ganeval's features, and the file formats those suites read and write."""
