# frozen_string_literal: true

# ruby_bench.rb - requests per second from Ruby against one mTLS server,
# through the binding and through Net::HTTP (as the seed article wires
# it), with the same certificates, in one run; keep-alive and a new
# connection per request.  Each run is bounded by COUNT requests and
# SECONDS; the median of ROUNDS alternating runs is printed with the
# binding/Net::HTTP ratio.
#
#   ruby -I bindings/ruby/lib ruby_bench.rb HOST PORT CERT KEY CA
require "mtls"
require "net/http"
require "openssl"

HOST, PORT, CERT, KEY, CA = ARGV
abort "usage: ruby_bench.rb HOST PORT CERT KEY CA" unless CA
COUNT = Integer(ENV.fetch("REQUESTS", "3000"))
SECONDS = Float(ENV.fetch("SECONDS_MAX", "10"))
ROUNDS = Integer(ENV.fetch("ROUNDS", "3"))

def clock
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# Runs the block up to COUNT times or SECONDS; returns requests/s.
def rate(count = COUNT)
  start = clock
  done = 0
  while done < count && clock - start < SECONDS
    yield
    done += 1
  end
  done / (clock - start)
end

def check(status)
  raise "HTTP #{status}" unless status.to_i == 200
end

CTX = MTLS::Context.new(cert: CERT, key: KEY, ca_file: CA)

def net_http
  http = Net::HTTP.new(HOST, PORT)
  http.use_ssl = true
  http.cert = OpenSSL::X509::Certificate.new(File.read(CERT))
  http.key = OpenSSL::PKey.read(File.read(KEY))
  http.ca_file = CA
  http.verify_mode = OpenSSL::SSL::VERIFY_PEER
  http
end

CASES = {
  "keep-alive" => {
    binding: -> { MTLS::HTTP.start(HOST, PORT, context: CTX) { |h| rate { check(h.get("/").status) } } },
    net_http: -> { net_http.start { |h| rate { check(h.get("/").code) } } }
  },
  "new connection per request" => {
    binding: -> { rate(COUNT / 5) { MTLS::HTTP.start(HOST, PORT, context: CTX) { |h| check(h.get("/").status) } } },
    net_http: -> { rate(COUNT / 5) { net_http.start { |h| check(h.get("/").code) } } }
  }
}.freeze

def median(values)
  values.sort[values.size / 2]
end

puts "Ruby #{RUBY_VERSION}: binding vs Net::HTTP against one server, median of #{ROUNDS}"
CASES.each do |label, runs|
  binding_rates = []
  net_rates = []
  ROUNDS.times do
    binding_rates << runs[:binding].call
    net_rates << runs[:net_http].call
  end
  b = median(binding_rates)
  n = median(net_rates)
  printf("%-28s Net::HTTP %8.1f req/s   binding %8.1f req/s   ratio %.2f\n",
         label, n, b, b / n)
end
