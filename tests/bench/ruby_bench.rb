# frozen_string_literal: true

# ruby_bench.rb - requests per second from Ruby against one mTLS server,
# through the binding and through Net::HTTP (as the seed article wires
# it) and through Faraday on its default adapter (net_http), with the
# same certificates, in one run; keep-alive and a new connection per
# request.  (Faraday's net_http adapter opens a connection per request
# either way: that is what its users get.)  Each run is bounded by COUNT requests and
# SECONDS; the median of ROUNDS alternating runs is printed with the
# binding/Net::HTTP ratio; with LIBSSL_KEEPALIVE (the rate of make bench's libssl
# client on one keep-alive connection), that ceiling beside Net::HTTP.
#
#   ruby -I bindings/ruby/lib ruby_bench.rb HOST PORT CERT KEY CA
require "mtls"
require "net/http"
require "openssl"
begin
  require "faraday"
rescue LoadError
  nil # Faraday's column is left out (apt-get install ruby-faraday)
end

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

# Faraday on its default adapter, with the seed's certificates.
def faraday
  Faraday.new("https://#{HOST}:#{PORT}",
              ssl: { client_cert: OpenSSL::X509::Certificate.new(File.read(CERT)),
                     client_key: OpenSSL::PKey.read(File.read(KEY)), ca_file: CA })
end

CASES = {
  "keep-alive" => {
    binding: -> { MTLS::HTTP.start(HOST, PORT, context: CTX) { |h| rate { check(h.get("/").status) } } },
    net_http: -> { net_http.start { |h| rate { check(h.get("/").code) } } },
    # One Faraday::Connection, as an app keeps one; its adapter still
    # connects for each request.
    faraday: -> { f = faraday; rate(COUNT / 5) { check(f.get("/").status) } }
  },
  "new connection per request" => {
    binding: -> { rate(COUNT / 5) { MTLS::HTTP.start(HOST, PORT, context: CTX) { |h| check(h.get("/").status) } } },
    net_http: -> { rate(COUNT / 5) { net_http.start { |h| check(h.get("/").code) } } }
  }
}.freeze

def median(values)
  values.sort[values.size / 2]
end

puts "Ruby #{RUBY_VERSION}: the binding against Net::HTTP and Faraday (default adapter), " \
     "one server, median of #{ROUNDS}"
CASES.each do |label, runs|
  clients = %i[binding net_http faraday].select { |c| runs[c] && (c != :faraday || defined?(Faraday)) }
  rates = clients.to_h { |c| [c, []] }
  ROUNDS.times { clients.each { |c| rates[c] << runs[c].call } }
  b, n, f = clients.map { |c| median(rates[c]) }
  printf("%-28s Net::HTTP %8.1f req/s   binding %8.1f req/s   ratio %.2f\n",
         label, n, b, b / n)
  printf("%-28s Faraday   %8.1f req/s   binding %8.1f req/s   ratio %.2f\n",
         label, f, b, b / f) if f
  next unless label == "keep-alive" && (c = ENV["LIBSSL_KEEPALIVE"].to_f).positive?

  # What a client with no cost of its own would reach: the libssl load
  # client on one connection to the same server (make bench passes it).
  printf("%-28s Net::HTTP %8.1f req/s   libssl C client %8.1f req/s   ratio %.2f (ceiling)\n",
         label, n, c, c / n)
end
