# contactgw: the same setup as a fresh Debian 12 machine, in an image.
# Build:  docker build -t contactgw .
# Run:    docker run --network host -v $PWD/config:/opt/contactgw/config contactgw
# (host networking: SIP and RTP use many UDP ports; edit config/contactgw.yaml to listen
#  on the host's address instead of 127.0.0.1.)
FROM debian:12-slim

WORKDIR /opt/contactgw
COPY . .
RUN ./scripts/setup && rm -rf /var/lib/apt/lists/*

EXPOSE 5060/udp 8080/tcp
CMD ["./scripts/run"]
