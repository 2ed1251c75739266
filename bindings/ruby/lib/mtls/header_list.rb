# frozen_string_literal: true

module MTLS
  # Header lookup shared by MTLS::Response and MTLS::Request, over
  # #header_list, an Array of [name, value] in the order they came.
  module HeaderList
    # A header's value (repeated ones joined with ", "), case-insensitive,
    # or nil.
    def [](name)
      get_fields(name)&.join(", ")
    end

    # Every value of a header, in order, or nil.
    def get_fields(name)
      key = name.to_s.downcase
      values = header_list.select { |n, _| n.downcase == key }.map(&:last)
      values.empty? ? nil : values
    end

    # Headers as a Hash of lower-case names to values.
    def headers
      header_list.each_with_object({}) do |(name, value), h|
        k = name.downcase
        h[k] = h.key?(k) ? "#{h[k]}, #{value}" : value
      end
    end
  end
end
