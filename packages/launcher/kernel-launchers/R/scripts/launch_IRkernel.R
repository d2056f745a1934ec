# gp: the R program an R `--spark` kernelspec's bin/run.sh hands to spark-submit (the reference's name, so its
# run.sh and gp's both find it). It checks what the image has, then runs gp's R launcher (launch_IRkernel.py,
# beside this file) with the same arguments; that launcher starts IRkernel with its SparkR session.
#   Rscript launch_IRkernel.R --kernel-id ID --response-address IP:PORT --public-key KEY \
#       [--port-range 0..0] [--spark-context-initialization-mode lazy|eager|none]
# With a Spark mode (lazy/eager) and no SparkR (neither installed nor in $SPARK_HOME/R/lib) it refuses, naming
# what the image lacks, instead of starting a kernel without Spark. GP_PYTHON picks the Python interpreter.
args <- commandArgs(trailingOnly = TRUE)
file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
here <- if (length(file_arg) > 0) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else getwd()

fail <- function(...) {
  message("launch_IRkernel.R: ", ...)
  quit(save = "no", status = 1)
}

mode <- "none"
at <- match("--spark-context-initialization-mode", args)
if (!is.na(at) && at < length(args)) mode <- args[at + 1]

if (mode != "none") {
  spark_home <- Sys.getenv("SPARK_HOME")
  spark_r_lib <- if (nzchar(spark_home)) file.path(spark_home, "R", "lib") else ""
  in_spark_home <- nzchar(spark_r_lib) && dir.exists(file.path(spark_r_lib, "SparkR"))
  if (in_spark_home) {
    # The kernel (a child R) finds SparkR through R_LIBS.
    Sys.setenv(R_LIBS = paste(c(spark_r_lib, Sys.getenv("R_LIBS")[nzchar(Sys.getenv("R_LIBS"))]), collapse = ":"))
  } else if (!requireNamespace("SparkR", quietly = TRUE)) {
    fail("Spark context mode '", mode, "' needs SparkR, and this image lacks it: no SparkR R package is installed and ",
         if (nzchar(spark_home)) paste0("SPARK_HOME (", spark_home, ") has no R/lib/SparkR") else "SPARK_HOME is not set",
         ". Use a Spark distribution built with SparkR (its R/lib/SparkR), or the mode 'none'.")
  }
}
if (!requireNamespace("IRkernel", quietly = TRUE)) {
  fail("this image lacks the IRkernel R package (e.g. Debian's r-cran-irkernel).")
}
python <- Sys.getenv("GP_PYTHON")
if (!nzchar(python)) python <- Sys.which("python3")
if (!nzchar(python)) python <- Sys.which("python")
if (!nzchar(python)) fail("this image lacks Python 3 (python3), which gp's R launcher needs (set GP_PYTHON).")
launcher <- file.path(here, "launch_IRkernel.py")
if (!file.exists(launcher)) fail("gp's R launcher ", launcher, " is missing: install it with image-bootstrap --languages R.")

status <- system2(python, c(shQuote(launcher), shQuote(args)))
quit(save = "no", status = status)
