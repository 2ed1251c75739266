# frozen_string_literal: true

require "net/http"
require "openssl"
require "uri"

module MTLS
  # HTTP/1.1 over mTLS, as Net::HTTP: code written for Net::HTTP with
  # use_ssl, cert, key and ca_file runs on MTLS::HTTP when the constant is
  # changed and nothing else.
  #
  #   http = MTLS::HTTP.new("localhost", 8443)
  #   http.use_ssl = true
  #   http.cert = OpenSSL::X509::Certificate.new(File.read("client.crt"))
  #   http.key = OpenSSL::PKey.read(File.read("client.key"))
  #   http.ca_file = "ca.crt"
  #   http.request(Net::HTTP::Get.new("/orders")).body
  #
  #   MTLS::HTTP.start("localhost", 8443, context: ctx) { |h| h.get("/").body }
  #
  # Requests are Net::HTTP::Get, Post, ... objects; responses are
  # Net::HTTPResponse objects; errors are the ones Net::HTTP code rescues
  # (see MTLS::Error).  It is always TLS (use_ssl = false is refused), the
  # peer is always verified, and there are no proxies.  Not for two
  # threads at once: give each thread its own (they can share a Context).
  class HTTP
    HTTPVersion = "1.1"

    # Net::HTTP's: the methods sent again after a failure that may have
    # left the server untouched, once (max_retries).
    IDEMPOTENT = %w[GET HEAD PUT DELETE OPTIONS TRACE].freeze
    # The failures after which Net::HTTP sends an idempotent request again
    # on a new connection (Net::HTTP#transport_request).
    RETRIED = [Net::ReadTimeout, ::IOError, ::EOFError, Errno::ECONNRESET,
               Errno::ECONNABORTED, Errno::EPIPE, Errno::ETIMEDOUT,
               OpenSSL::SSL::SSLError, Timeout::Error].freeze

    BUFFER = 16 * 1024

    class << self
      # As Net::HTTP.start(address, port, p_addr, p_port, p_user, p_pass,
      # opt): opt holds any setter's name (use_ssl:, cert:, key:, ca_file:,
      # verify_mode:, read_timeout:, ..., context:).  With a block, yields
      # the started session, finishes it, and returns the block's value.
      def start(address, *arg, &block)
        opt = Hash.try_convert(arg.last)
        arg.pop if opt
        new(address, *arg, **(opt || {})).start(&block)
      end

      # Net::HTTP's.
      def default_port
        443
      end
      alias https_default_port default_port
      alias http_default_port default_port

      def proxy_class?
        false
      end

      # Net::HTTP::Proxy: no proxy (nil, or :ENV, whose proxies are not
      # used) is this class; a proxy is refused.
      def Proxy(p_addr = :ENV, p_port = nil, _p_user = nil, _p_pass = nil) # rubocop:disable Naming/MethodName
        refuse_proxy(p_addr, p_port)
        self
      end

      # (internal) proxies are not supported; :ENV ignores the
      # environment's.
      def refuse_proxy(p_addr, p_port)
        return if p_addr.nil? || p_addr == :ENV

        raise ArgumentError, "MTLS::HTTP does not go through an HTTP proxy (#{p_addr}:#{p_port}): " \
                             "connect to the server itself"
      end
    end

    attr_reader :address, :port, :keep_alive_timeout, :max_retries, :verify_name

    # new(address, port = 443, p_addr = :ENV, ...) as Net::HTTP.new, and
    # any setter by name: new("h", 8443, context: ctx, read_timeout: 5).
    # p_addr: proxies are not supported; :ENV (the default) ignores the
    # environment's.
    def initialize(address, port = nil, p_addr = :ENV, p_port = nil, _p_user = nil,
                   _p_pass = nil, _p_no_proxy = nil, **options)
      HTTP.refuse_proxy(p_addr, p_port)
      @address = address
      @port = port || HTTP.default_port
      @ipaddr = nil
      @local_host = @local_port = nil
      @context = nil
      @built_context = nil
      @verify_name = nil
      @open_timeout = @read_timeout = @write_timeout = :default
      @keep_alive_timeout = 2
      @continue_timeout = nil
      @max_retries = 1
      @close_on_empty_response = false
      @ssl_timeout = nil
      @debug_output = nil
      @started = false
      @conn = nil
      @reconnect = false
      @last_communicated = nil
      @buf = nil
      @size_pointer = nil
      @header_block = nil
      @prototypes = nil
      @host_header = nil
      SSL_ATTRIBUTES.each { |name| instance_variable_set(:"@#{name}", nil) }
      set_options(options)
    end

    def inspect
      "#<#{self.class} #{@address}:#{@port} open=#{started?}>"
    end

    # Lines about connections (as Net::HTTP's, without the wire data).
    def set_debug_output(output)
      @debug_output = output
    end

    def started?
      @started
    end
    alias active? started?

    # Connects (Net::HTTP#start).  With a block, yields self, finishes
    # and returns the block's value.
    def start
      raise ConnectionError.new("HTTP session already opened", code: CODES[:INVALID]) if @started

      if block_given?
        begin
          do_start
          return yield(self)
        ensure
          do_finish
        end
      end
      do_start
      self
    end

    # Closes the connection (Net::HTTP#finish).
    def finish
      raise ConnectionError.new("HTTP session not yet started", code: CODES[:INVALID]) unless started?

      do_finish
    end

    # The connection (started if need be): its peer, TLS version, cipher.
    def connection
      start unless started?
      connect if @conn.nil? || !@conn.usable?
      @conn
    end

    def peer
      connection.peer
    end

    # The server's certificate (OpenSSL::X509::Certificate), when started.
    def peer_cert
      @conn&.usable? ? @conn.peer.certificate : nil
    end

    # ------------------------------------------------- Net::HTTP's requests

    # With a block, the body is passed to it in pieces as they arrive
    # (and response.body is then a Net::ReadAdapter, as in Net::HTTP).
    def get(path, initheader = nil, dest = nil, &block)
      return plain(Net::HTTP::Get, path, initheader) unless dest || block

      res = nil
      request(Net::HTTP::Get.new(path, initheader)) do |r|
        r.read_body(dest, &block)
        res = r
      end
      res
    end

    def head(path, initheader = nil)
      plain(Net::HTTP::Head, path, initheader)
    end

    def post(path, data, initheader = nil, dest = nil, &block)
      send_entity(path, data, initheader, dest, Net::HTTP::Post, &block)
    end

    def patch(path, data, initheader = nil, dest = nil, &block)
      send_entity(path, data, initheader, dest, Net::HTTP::Patch, &block)
    end

    def put(path, data, initheader = nil)
      plain(Net::HTTP::Put, path, initheader, data)
    end

    def delete(path, initheader = DEPTH_INFINITY)
      plain(Net::HTTP::Delete, path, initheader)
    end

    def options(path, initheader = nil)
      plain(Net::HTTP::Options, path, initheader)
    end

    def trace(path, initheader = nil)
      plain(Net::HTTP::Trace, path, initheader)
    end

    def propfind(path, body = nil, initheader = DEPTH_0)
      plain(Net::HTTP::Propfind, path, initheader, body)
    end

    def mkcol(path, body = nil, initheader = nil)
      request(Net::HTTP::Mkcol.new(path, initheader), body)
    end

    { proppatch: Net::HTTP::Proppatch, lock: Net::HTTP::Lock,
      unlock: Net::HTTP::Unlock }.each do |name, klass|
      define_method(name) { |path, body, initheader = nil| request(klass.new(path, initheader), body) }
    end

    { move: Net::HTTP::Move, copy: Net::HTTP::Copy }.each do |name, klass|
      define_method(name) { |path, initheader = nil| request(klass.new(path, initheader)) }
    end

    # Yield the response before its body is read.
    def request_get(path, initheader = nil, &block)
      request(Net::HTTP::Get.new(path, initheader), &block)
    end

    def request_head(path, initheader = nil, &block)
      request(Net::HTTP::Head.new(path, initheader), &block)
    end

    def request_post(path, data, initheader = nil, &block)
      request(Net::HTTP::Post.new(path, initheader), data, &block)
    end

    def request_put(path, data, initheader = nil, &block)
      request(Net::HTTP::Put.new(path, initheader), data, &block)
    end

    # Any method by name (Net::HTTP#send_request).
    # header: a Hash, or (MTLS::HTTP 0.1.0) pairs, which may repeat a name.
    def send_request(name, path, data = nil, header = nil)
      has_response_body = name.to_s.upcase != "HEAD"
      pairs = header.is_a?(Array) ? header : nil
      req = Net::HTTPGenericRequest.new(name.to_s.upcase, data ? true : false,
                                        has_response_body, path, pairs ? nil : header)
      pairs&.each { |k, v| req.add_field(k, v) }
      request(req, data)
    end

    # request(req, body = nil) { |response| ... } as Net::HTTP: req is a
    # Net::HTTPRequest (Net::HTTP::Get.new("/orders")); the block gets the
    # response before its body is read, to stream it with read_body.  On a
    # session not started, one connection is made for this request alone
    # ("Connection: close"), as Net::HTTP does.
    #
    # request(method, path, body = nil, headers = nil): the form of
    # MTLS::HTTP 0.1.0, as send_request.
    def request(req, body = nil, *rest, &block)
      return send_request(req, body, *rest) if req.is_a?(String) || req.is_a?(Symbol)
      raise ArgumentError, "MTLS::HTTP#request: #{req.class} is not a Net::HTTPRequest" \
        unless req.is_a?(Net::HTTPGenericRequest)

      unless started?
        start do
          req["connection"] ||= "close"
          return request(req, body, &block)
        end
      end
      req.set_body_internal(body)
      transport_request(req, &block)
    end

    private

    def send_entity(path, data, initheader, dest, type, &block)
      return plain(type, path, initheader, data) unless dest || block

      res = nil
      request(type.new(path, initheader), data) do |r|
        r.read_body(dest, &block)
        res = r
      end
      res
    end

    def do_start
      connect
      @started = true
    end

    def do_finish
      @started = false
      close_connection
    end

    def close_connection
      @conn&.close
      @conn = nil
    end

    def debug(msg)
      return unless @debug_output

      @debug_output << msg
      @debug_output << "\n"
    end

    def connect
      close_connection
      addr = @ipaddr || @address
      debug "opening connection to #{addr}:#{@port}..."
      name = @verify_name || (@ipaddr ? @address : nil)
      @conn = Connection.connect(addr, @port, context: context, verify_name: name)
      debug "SSL established, protocol: #{@conn.tls_version}, cipher: #{@conn.cipher}"
      @reconnect = false
      @last_communicated = nil
    end

    # ------------------------------------------------------ the exchange

    def transport_request(req, &block)
      count = 0
      begin
        begin_transport(req)
        res = exchange(req, &block)
      rescue OpenTimeout
        raise
      rescue *RETRIED => e
        if count < @max_retries && IDEMPOTENT.include?(req.method)
          count += 1
          debug "Conn close because of error #{e}, and retry"
          close_connection
          retry
        end
        raise
      end
      end_transport(req, res)
      res
    rescue StandardError
      close_connection
      raise
    end

    def begin_transport(req)
      if @conn.nil? || !@conn.usable? || @reconnect
        connect
      elsif @last_communicated &&
            @last_communicated + @keep_alive_timeout < Process.clock_gettime(Process::CLOCK_MONOTONIC)
        debug "Conn close because of keep_alive_timeout"
        connect
      end
      req.update_uri(@address, @port, true) if req.uri
      Fields.default_host(req, @host_header ||= host_header.freeze)
    end

    def end_transport(req, res)
      if !keep_alive?(req, res)
        debug "Conn close"
        close_connection
      else
        @last_communicated = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end

    def keep_alive?(req, res)
      return false if req.connection_close?
      return res.connection_keep_alive? if res.http_version <= "1.0"

      !res.connection_close?
    end

    def host_header
      addr = @address.to_s
      addr = "[#{addr}]" if addr.include?(":")
      @port == HTTP.default_port ? addr : "#{addr}:#{@port}"
    end

    # Sends req; reads the response's head; yields it to the caller's
    # block, where read_body streams the body; reads what is left of it.
    def exchange(req)
      body = request_body(req)
      headers = (@header_block ||= Fields::Block.new).array(req)
      ptr = @conn.call do |p|
        r = Native.mtls_http_request(p, req.method, req.path, headers, body,
                                     body ? body.bytesize : 0, Native::HTTP_STREAM)
        r = resume_interrupted(p, r)
        raise MTLS.error_from_conn(p, phase: :request) if r.null?

        r
      end
      reader = BodyReader.new(self, @conn, ptr)
      begin
        res = reader.response(req)
        if block_given?
          reader.stream(res)
          yield res
          res.body # what the block did not read (Net::HTTPResponse#reading_body)
        else
          reader.read_now(res)
        end
        res
      ensure
        close_connection unless reader.finish
      end
    end

    # The request body as one String: req.body, or what Net::HTTP would
    # write of body_stream or set_form's data (read whole; sent with a
    # Content-Length, even when Net::HTTP would have chunked it).
    def request_body(req)
      if (body = req.body)
        body = body.to_s
        Fields.body_fields(req, body.bytesize)
        return body
      end
      return nil unless req.body_stream || req.instance_variable_get(:@body_data)

      capture = Capture.new
      req.exec(capture, HTTPVersion, req.path)
      body = capture.body
      body = Capture.dechunk(body) if req.chunked?
      req.delete("Transfer-Encoding")
      req.content_length = body.bytesize
      body
    end

    # A request that a signal interrupted goes on where it stopped
    # (mtls_http_resume) once Ruby has had the chance to raise the
    # interrupt that came with the signal (Thread.pass): a signal that
    # brings no exception costs nothing, and nothing is sent twice.
    def resume_interrupted(ptr, response)
      while response.null? && Native.mtls_error_code(ptr) == CODES[:INTERRUPTED]
        Thread.pass
        response = Native.mtls_http_resume(ptr)
      end
      response
    end

    # (internal) a buffer for body reads, and two char * for header reads,
    # kept between requests.
    def body_buffer
      @buf ||= FFI::MemoryPointer.new(:uint8, BUFFER)
    end

    def size_pointer
      @size_pointer ||= FFI::MemoryPointer.new(:size_t)
    end
    public :body_buffer, :size_pointer
  end

  # One request to an https:// URL with a Context made from the options.
  #   MTLS.get("https://localhost:8443/", cert: "client.crt",
  #            key: "client.key", ca_file: "ca.crt")
  def self.get(url, headers = nil, context: nil, **context_options)
    request("GET", url, nil, headers, context: context, **context_options)
  end

  def self.post(url, body, headers = nil, context: nil, **context_options)
    request("POST", url, body, headers, context: context, **context_options)
  end

  def self.request(method, url, body = nil, headers = nil, context: nil, **context_options)
    uri = URI.parse(url.to_s)
    raise ArgumentError, "MTLS: #{url} is not an https:// URL" unless uri.scheme == "https"

    context ||= Context.new(**context_options)
    HTTP.start(uri.hostname, uri.port || 443, context: context) do |http|
      http.send_request(method, uri.request_uri, body, headers)
    end
  end
end
