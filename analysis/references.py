"""The works the report cites, as data: the last section lists them (see :class:`analysis.sections.Reference`)."""

from analysis.sections import Reference

REFERENCES = [
    Reference(
        "Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful "
        "approach to multiple testing. Journal of the Royal Statistical Society B, 57(1), 289-300.",
        "10.1111/j.2517-6161.1995.tb02031.x",
    ),
    Reference(
        "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological "
        "Measurement, 20(1), 37-46.",
        "10.1177/001316446002000104",
    ),
    Reference(
        "DeYoung, J., Jain, S., Rajani, N. F., Lehman, E., Xiong, C., Socher, R., & Wallace, B. C. (2020). "
        "ERASER: a benchmark to evaluate rationalized NLP models. Proceedings of ACL 2020, 4443-4458.",
        "10.18653/v1/2020.acl-main.408",
    ),
    Reference(
        "Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall/CRC.",
        "10.1201/9780429246593",
    ),
    Reference(
        "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin, "
        "76(5), 378-382.",
        "10.1037/h0031619",
    ),
    Reference(
        "Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high "
        "agreement. British Journal of Mathematical and Statistical Psychology, 61(1), 29-48.",
        "10.1348/000711006X126600",
    ),
    Reference(
        "Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal of "
        "Statistics, 6(2), 65-70. https://www.jstor.org/stable/4615733"
    ),
    Reference(
        "Kerby, D. S. (2014). The simple difference formula: an approach to teaching nonparametric "
        "correlation. Comprehensive Psychology, 3, 11.IT.3.1.",
        "10.2466/11.IT.3.1",
    ),
    Reference("Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology (2nd ed.). Sage."),
    Reference(
        "Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement for categorical data. "
        "Biometrics, 33(1), 159-174.",
        "10.2307/2529310",
    ),
    Reference(
        "Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures. Journal of "
        "the American Statistical Association, 54(287), 655-667.",
        "10.1080/01621459.1959.10501526",
    ),
    Reference(
        "Shannon, C. E. (1948). A mathematical theory of communication. Bell System Technical Journal, 27(3), 379-423.",
        "10.1002/j.1538-7305.1948.tb01338.x",
    ),
    Reference(
        "Vallat, R. (2018). Pingouin: statistics in Python. Journal of Open Source Software, 3(31), 1026.",
        "10.21105/joss.01026",
    ),
    Reference(
        "Vafa, K., Deng, Y., Blei, D. M., & Rush, A. M. (2021). Rationales for sequential predictions. "
        "Proceedings of EMNLP 2021, 10314-10332.",
        "10.18653/v1/2021.emnlp-main.807",
    ),
    Reference(
        "Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin, 1(6), 80-83.",
        "10.2307/3001968",
    ),
]
