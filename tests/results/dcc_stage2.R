# Stage 2 of the DCC(1,1) model of Engle (2002), written in base R from the paper's equations
# (no hybridrisk or Python code involved), maximised with base R's optimisers.
#
#   Q_t = (1 - a - b) Qbar + a z_{t-1} z_{t-1}' + b Q_{t-1},   Q_1 = Qbar,
#   R_t = diag(Q_t)^{-1/2} Q_t diag(Q_t)^{-1/2},
#   normal: ln g_t = -1/2 (N ln 2 pi + ln|R_t| + z_t' R_t^{-1} z_t)
#   t:      ln g_t = lgamma((nu+N)/2) - lgamma(nu/2) - N/2 ln(pi (nu-2)) - 1/2 ln|R_t|
#                    - (nu+N)/2 ln(1 + z_t' R_t^{-1} z_t / (nu-2))     (t scaled to covariance R_t)
#
# Qbar is either T^{-1} sum z_t z_t' (Engle's correlation targeting, "crossprod") or R's cov(z)
# (demeaned, divisor T-1: the convention of the Python package mvgarch, "cov").
#
# Usage: Rscript dcc_stage2.R z.csv out.csv
#   z.csv: columns date, then one column of standardised residuals per series.
#   out.csv: rows (case, key, value), values with 17 significant digits; cases normal:crossprod,
#            normal:cov, t:crossprod.

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 2)
z <- as.matrix(read.csv(args[1], colClasses = c("character", "numeric", "numeric"))[, -1])
n_obs <- nrow(z)
n_ser <- ncol(z)

# per-observation ln|R_t| and z_t' R_t^{-1} z_t, by a plain loop over t (Cholesky of R_t)
dcc_terms <- function(a, b, qbar) {
  logdet <- numeric(n_obs)
  quad <- numeric(n_obs)
  q <- qbar
  for (t in seq_len(n_obs)) {
    if (t > 1) q <- (1 - a - b) * qbar + a * tcrossprod(z[t - 1, ]) + b * q
    d <- 1 / sqrt(diag(q))
    r <- q * outer(d, d)
    ch <- chol(r)  # r = ch' ch
    w <- backsolve(ch, z[t, ], transpose = TRUE)
    logdet[t] <- 2 * sum(log(diag(ch)))
    quad[t] <- sum(w * w)
  }
  list(logdet = logdet, quad = quad)
}

loglik <- function(p, dist, qbar) {
  a <- p[1]
  b <- p[2]
  if (a < 0 || b < 0 || a + b >= 1) return(-Inf)
  tm <- dcc_terms(a, b, qbar)
  if (dist == "normal") {
    return(sum(-0.5 * (n_ser * log(2 * pi) + tm$logdet + tm$quad)))
  }
  nu <- p[3]
  if (nu <= 2) return(-Inf)
  sum(lgamma((nu + n_ser) / 2) - lgamma(nu / 2) - n_ser / 2 * log(pi * (nu - 2))
      - 0.5 * tm$logdet - (nu + n_ser) / 2 * log1p(tm$quad / (nu - 2)))
}

# From two starts: Nelder-Mead then BFGS, and nlminb (PORT, bounded) separately; keep the best
# and report the spread of the four solutions as the optimisers' precision. (With numerical
# derivatives nlminb stops ~1e-7 short in (a, b); a tighter rel.tol only makes it report
# "singular convergence".)
fit_case <- function(dist, qbar) {
  f <- function(p) {
    v <- loglik(p, dist, qbar)
    if (is.finite(v)) -v else 1e300
  }
  starts <- list(c(0.05, 0.90), c(0.01, 0.98))
  if (dist == "t") starts <- lapply(starts, function(s) c(s, 8))
  sols <- list()
  for (s in starts) {
    nm <- optim(s, f, method = "Nelder-Mead",
                control = list(reltol = 1e-10, maxit = 20000))
    bf <- optim(nm$par, f, method = "BFGS",
                control = list(reltol = 1e-15, maxit = 1000, ndeps = rep(1e-7, length(s))))
    sols[[length(sols) + 1]] <- list(par = bf$par, value = -bf$value, how = "NM+BFGS",
                                     conv = bf$convergence)
    lo <- if (dist == "t") c(0, 0, 2.001) else c(0, 0)
    hi <- if (dist == "t") c(1, 1, 500) else c(1, 1)
    nl <- nlminb(s, f, lower = lo, upper = hi,
                 control = list(rel.tol = 1e-10, eval.max = 5000, iter.max = 3000))
    sols[[length(sols) + 1]] <- list(par = nl$par, value = -nl$objective, how = "nlminb",
                                     conv = nl$convergence)
  }
  vals <- sapply(sols, function(s) s$value)
  pars <- do.call(rbind, lapply(sols, function(s) s$par))
  best <- sols[[which.max(vals)]]
  spread <- apply(pars, 2, function(x) max(x) - min(x))
  list(best = best, spread = spread, ll_spread = max(vals) - min(vals),
       conv = all(sapply(sols, function(s) s$conv) == 0))
}

qbars <- list(crossprod = crossprod(z) / n_obs, cov = cov(z))
rows <- list()
for (dist in c("normal", "t")) {
  for (qn in names(qbars)) {
    if (dist == "t" && qn == "cov") next  # the cov convention is only compared for normal
    res <- fit_case(dist, qbars[[qn]])
    p <- res$best$par
    case <- paste(dist, qn, sep = ":")
    add <- function(key, value) {
      rows[[length(rows) + 1]] <<- data.frame(case = case, key = key,
                                              value = sprintf("%.17g", value))
    }
    add("a", p[1])
    add("b", p[2])
    if (dist == "t") add("nu", p[3])
    add("loglik", res$best$value)
    add("spread_a", res$spread[1])
    add("spread_b", res$spread[2])
    if (dist == "t") add("spread_nu", res$spread[3])
    add("spread_loglik", res$ll_spread)
    add("all_converged", as.numeric(res$conv))
    cat(case, sprintf("%.10f", p), sprintf("%.8f", res$best$value), "\n")
  }
}
out <- do.call(rbind, rows)
out <- rbind(out, data.frame(case = "meta", key = "R.version.string",
                             value = R.version.string))
write.csv(out, args[2], row.names = FALSE, quote = TRUE)
