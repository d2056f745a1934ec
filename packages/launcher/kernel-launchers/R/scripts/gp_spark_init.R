# Spark session set-up for gp's R launcher (sourced before IRkernel::main() when
# --spark-context-initialization-mode is lazy or eager).
#   eager: the session is created before the kernel starts answering.
#   lazy:  `spark` and `sc` are promises, created on first use.
# Without the SparkR package nothing is created and a message says so.
gp_spark_init <- function(mode) {
  if (!requireNamespace("SparkR", quietly = TRUE)) {
    message("gp: a Spark session was requested but SparkR is not installed; no session is created.")
    return(invisible(NULL))
  }
  conf <- list(spark.executorEnv.R_LIBS_USER = Sys.getenv("R_LIBS_USER"), spark.rdd.compress = "true")
  new_session <- function() SparkR::sparkR.session(enableHiveSupport = FALSE, sparkConfig = conf)
  java_context <- function(session) {
    SparkR:::callJStatic("org.apache.spark.sql.api.r.SQLUtils", "getJavaSparkContext", session)
  }
  env <- globalenv()
  if (identical(mode, "eager")) {
    session <- new_session()
    assign("spark", session, envir = env)
    assign("sc", java_context(session), envir = env)
  } else {
    delayedAssign("spark", new_session(), assign.env = env)
    delayedAssign("sc", java_context(get("spark", envir = env)), assign.env = env)
  }
  invisible(NULL)
}
