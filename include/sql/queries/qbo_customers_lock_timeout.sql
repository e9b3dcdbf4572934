SET lock_timeout = '15min'
