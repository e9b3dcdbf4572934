COPY {input} ({columns}) FROM STDIN
