# frozen_string_literal: true

require "uri"

module MTLS
  # An HTTP response: #status (Integer), #code (String, as Net::HTTP),
  # #message, case-insensitive #[], #headers, and a binary #body.
  class Response
    attr_reader :status, :message, :http_version, :body, :header_list

    def initialize(status, message, version, header_list, body)
      @status = status
      @message = message
      @http_version = version
      @header_list = header_list.freeze
      @body = body
      freeze
    end

    def code
      @status.to_s
    end

    include HeaderList
    alias to_hash headers

    def each_header(&block)
      headers.each(&block)
    end

    def success?
      (200..299).cover?(@status)
    end

    def inspect
      "#<MTLS::Response #{@status} #{@message}>"
    end
  end

  # HTTP/1.1 over mTLS, shaped like Net::HTTP:
  #
  #   MTLS::HTTP.start("localhost", 8443, context: ctx) do |http|
  #     http.get("/orders").body
  #   end
  #
  # One keep-alive connection, made when the first request needs it and
  # made again when the server closed it.  Not for use by two threads at
  # once: give each thread its own MTLS::HTTP (they can share the Context).
  class HTTP
    IDEMPOTENT = %w[GET HEAD PUT DELETE OPTIONS TRACE].freeze

    attr_reader :address, :port, :context

    def self.start(host, port = 443, context:, open_timeout: nil, read_timeout: nil,
                   verify_name: nil)
      http = new(host, port, context: context, open_timeout: open_timeout,
                             read_timeout: read_timeout, verify_name: verify_name)
      http.start
      return http unless block_given?

      begin
        yield http
      ensure
        http.finish
      end
    end

    # open_timeout: seconds for TCP connect and for the handshake;
    # read_timeout: seconds each read or write may wait.  nil: the
    # context's (libmtls: 30 s to connect and for the handshake, no limit
    # on reads).
    def initialize(host, port = 443, context:, open_timeout: nil, read_timeout: nil,
                   verify_name: nil)
      @address = host
      @port = port
      @context = context.with_timeouts(open: open_timeout, read: read_timeout)
      @verify_name = verify_name
      @conn = nil
      @used = false
    end

    # Connects now (otherwise the first request does).
    def start
      connect unless started?
      self
    end

    def started?
      !@conn.nil? && !@conn.closed?
    end

    def finish
      @conn&.close
      @conn = nil
    end

    # The connection, after the first request: its peer, version, cipher.
    def connection
      start
      @conn
    end

    def peer
      connection.peer
    end

    def get(path, headers = nil)
      request("GET", path, nil, headers)
    end

    def head(path, headers = nil)
      request("HEAD", path, nil, headers)
    end

    def delete(path, headers = nil)
      request("DELETE", path, nil, headers)
    end

    def post(path, body, headers = nil)
      request("POST", path, body, headers)
    end

    def put(path, body, headers = nil)
      request("PUT", path, body, headers)
    end

    def patch(path, body, headers = nil)
      request("PATCH", path, body, headers)
    end

    # Any method.  headers: a Hash (or pairs) of names to values.
    def request(method, path, body = nil, headers = nil)
      method = method.to_s.upcase
      reused = started? && @used
      start
      begin
        response = send_request(method, path, body, headers)
      rescue ConnectionReset, TruncatedError => e
        raise unless retry_request?(method, e, reused)

        reused = false
        finish
        start
        retry
      end
      finish if close_after?(response)
      response
    end

    private

    def connect
      @conn = Connection.connect(@address, @port, context: @context,
                                                  verify_name: @verify_name)
      @used = false
    end

    def send_request(method, path, body, headers)
      array, keep = Native.header_array(headers)
      bytes = body&.to_s&.b
      @used = true
      @conn.call do |p|
        r = Native.mtls_http_request(p, method, path.to_s, array, bytes,
                                     bytes ? bytes.bytesize : 0, 0)
        r = resume_interrupted(p, r)
        raise MTLS.error_from_conn(p, phase: :request) if r.null?

        begin
          Response.new(Native.mtls_http_response_status(r),
                       Native.mtls_http_response_reason(r),
                       Native.mtls_http_response_version(r),
                       Native.read_headers(:mtls_http_response_header_at, r),
                       Native.read_body(:mtls_http_response_body, r))
        ensure
          Native.mtls_http_response_free(r)
        end
      end
    ensure
      keep&.clear
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

    # Whether a failed request is sent again on a new connection, for
    # idempotent methods only, as Net::HTTP does: after a keep-alive
    # connection the server closed meanwhile (once).
    def retry_request?(method, error, reused)
      return false unless IDEMPOTENT.include?(method)

      reused && [CODES[:CLOSED], CODES[:TRUNCATED]].include?(error.code)
    end

    def close_after?(response)
      conn = response["connection"].to_s.downcase
      conn.include?("close") ||
        (response.http_version == "HTTP/1.0" && !conn.include?("keep-alive"))
    end
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
    host = uri.hostname
    HTTP.start(host, uri.port || 443, context: context) do |http|
      http.request(method, uri.request_uri, body, headers)
    end
  end
end
