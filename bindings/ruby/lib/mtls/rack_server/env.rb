# frozen_string_literal: true

module MTLS
  class RackServer
    # The Rack env of a request, as Puma 5 builds it: the connection's
    # part made once (RackServer#connection_env: constants, identity,
    # REMOTE_ADDR) and copied, then the request line and the headers.
    module Env
      REQUEST_METHOD = "REQUEST_METHOD"
      REQUEST_URI = "REQUEST_URI"
      REQUEST_PATH = "REQUEST_PATH"
      PATH_INFO = "PATH_INFO"
      QUERY_STRING = "QUERY_STRING"
      SERVER_PROTOCOL = "SERVER_PROTOCOL"
      HTTP_VERSION = "HTTP_VERSION"
      HTTP_HOST = "HTTP_HOST"
      SERVER_NAME = "SERVER_NAME"
      SERVER_PORT = "SERVER_PORT"
      CONTENT_LENGTH = "CONTENT_LENGTH"
      HTTP_TRANSFER_ENCODING = "HTTP_TRANSFER_ENCODING"
      RACK_INPUT = "rack.input"
      HTTPS_PORT = "443"

      # Env keys of headers, by the names clients send; others are made
      # once (KEY_CACHE_MAX of them) and kept.
      COMMON = %w[Host User-Agent Accept Accept-Encoding Accept-Language
                  Connection Cookie Referer Authorization Cache-Control
                  If-None-Match If-Modified-Since Origin Content-Type
                  Content-Length Transfer-Encoding Expect X-Forwarded-For
                  X-Forwarded-Proto X-Request-Id X-Requested-With Upgrade Range
                  Pragma DNT TE Via]
      KEY_CACHE_MAX = 1000
      @keys = {}
      @keys_lock = Mutex.new

      # The env key of a header name: HTTP_ and the name upper-cased with
      # dashes as underscores, CONTENT_TYPE and CONTENT_LENGTH without
      # HTTP_; nil for a name with an underscore, which is applied only
      # when no dashed name gave the same key (as Puma does, so that
      # X_Forwarded_For cannot stand in for X-Forwarded-For).
      def self.key(name)
        @keys[name] || make_key(name)
      end

      def self.make_key(name)
        return nil if name.include?("_")

        up = name.upcase.tr("-", "_")
        key = (up == "CONTENT_TYPE" || up == "CONTENT_LENGTH" ? up : "HTTP_#{up}").freeze
        @keys_lock.synchronize { @keys[name.dup.freeze] = key if @keys.size < KEY_CACHE_MAX }
        key
      end

      COMMON.each { |n| [n, n.downcase].each { |v| make_key(v) } }

      # SERVER_NAME and SERVER_PORT of a Host header: "host", "host:port",
      # "[v6]" or "[v6]:port"; 443 without a port.
      def self.split_host(host)
        if host.start_with?("[")
          close = host.index("]") or return [host.freeze, HTTPS_PORT]
          name = host[0..close]
          port = host[close + 1] == ":" ? host[close + 2..] : HTTPS_PORT
        elsif (colon = host.index(":"))
          name = host[0, colon]
          port = host[colon + 1..]
        else
          name = host
          port = HTTPS_PORT
        end
        [name.freeze, (port.empty? ? HTTPS_PORT : port).freeze].freeze
      end

      private

      # Fills env (a copy of the connection's) from req.
      def fill_env(env, client, req, scratch)
        target = Native.mtls_http_req_target(req)
        version = Native.mtls_http_req_version(req)
        read_headers(env, req, scratch)
        env[REQUEST_METHOD] = Native.mtls_http_req_method(req)
        env[REQUEST_URI] = target
        if target.start_with?("/")
          if (q = target.index("?"))
            path = target[0, q]
            env[QUERY_STRING] = target[q + 1..]
          else
            path = target
          end
        else
          path = absolute_target(env, target)
        end
        env[PATH_INFO] = path
        env[REQUEST_PATH] = path
        env[SERVER_PROTOCOL] = version
        env[HTTP_VERSION] = version
        if (host = env[HTTP_HOST])
          env[SERVER_NAME], env[SERVER_PORT] = client.host_parts(host)
        end
        length = env[CONTENT_LENGTH]
        if length ? length != "0" : env.key?(HTTP_TRANSFER_ENCODING)
          env[RACK_INPUT] = Input.new(req, client, scratch)
        end
        env
      end

      def read_headers(env, req, scratch)
        pair = scratch.pair
        value_out = scratch.value_out
        late = nil
        i = 0
        while Native.mtls_http_req_header_at(req, i, pair, value_out) == 1
          name = pair.get(:string, 0)
          value = value_out.get(:string, 0)
          i += 1
          key = Env.key(name)
          if key.nil?
            (late ||= []) << name << value
          elsif (old = env[key])
            env[key] = "#{old}, #{value}"
          else
            env[key] = value
          end
        end
        late_headers(env, late) if late
      end

      # Names with underscores: only where no dashed name set the key.
      def late_headers(env, late)
        seen = {}
        late.each_slice(2) do |name, value|
          key = "HTTP_#{name.upcase.tr('-', '_')}"
          next if env.key?(key) && !seen[key]

          env[key] = seen[key] ? "#{env[key]}, #{value}" : value
          seen[key] = true
        end
      end

      # An absolute-form target ("https://host/path?q"): its path and
      # query, and its host as Host (RFC 9112, 3.2.2).
      def absolute_target(env, target)
        uri = URI.parse(target)
        env[QUERY_STRING] = uri.query.to_s
        env[HTTP_HOST] = uri.port == uri.default_port ? uri.host : "#{uri.host}:#{uri.port}" if uri.host
        uri.path.to_s.empty? ? "/" : uri.path
      rescue URI::InvalidURIError
        target == "*" ? "" : target
      end
    end
  end
end
