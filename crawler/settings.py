"""Scrapy settings for markwatch's spiders: polite by default.

``crawler.run`` layers the markwatch settings object on top (delay, concurrency, user agent, the
store's URL and the crawl run being filled).
"""

BOT_NAME = "markwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: obey robots.txt, one request in flight per host, a delay, AutoThrottle on top.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Bounded fetches.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

ITEM_PIPELINES = {
    "crawler.pipelines.ValidatePipeline": 100,
    "crawler.pipelines.DedupePipeline": 200,
    "crawler.pipelines.PersistPipeline": 300,
    "crawler.photos.PhotoCapturePipeline": 400,
}
# Photos fetched per listing after it is stored (crawler/photos.py); 0: image URLs only.
MARKWATCH_IMAGES_PER_LISTING = 4

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Reliability and security (see crawler/guard.py and crawler/middlewares.py): the SSRF guard on
# every request and at connection time, Retry-After honoured, robots.txt failures read as
# "disallow", and every failed fetch ending as a typed, counted error.
DOWNLOADER_MIDDLEWARES = {
    "crawler.guard.SsrfGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsPolicyMiddleware": 100,
    "crawler.middlewares.FetchErrorMiddleware": 540,
    "crawler.middlewares.RetryAfterMiddleware": 560,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.BoundedMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.BoundedHttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.BoundedRedirectMiddleware": 600,
    "crawler.guard.ResolverRefusalMiddleware": 960,
}
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"
# Only http and https are ever downloaded.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
# host:port pairs let through although private (the bundled test marketplaces); crawler.run fills
# it from MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS.
MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS = ""
# Longest Retry-After (seconds) honoured; longer ones are capped.
MARKWATCH_RETRY_AFTER_MAX = 60
