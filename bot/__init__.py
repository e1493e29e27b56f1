"""便民服务前台: the WeChat front desk of grassroots government service centers."""
